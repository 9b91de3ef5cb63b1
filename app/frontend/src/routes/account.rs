//! Who uses the page. Without auth: a user id chosen in the header form and kept in a cookie.
//! With auth (the backend's `/auth/config` says so): sign-up and login pages; the token goes into
//! an HttpOnly cookie that the proxy turns into `Authorization: Bearer`.

use crate::routes::extract::Form;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::api::UserId;
use crate::assets::{AssetUrls, URLS};
use crate::routes::{Html, encode_query, see_other};
use crate::session;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub assets: &'static AssetUrls,
    pub user: String,
    pub heading: &'static str,
    pub action: &'static str,
    pub password_autocomplete: &'static str,
    pub other_prompt: &'static str,
    pub other_href: &'static str,
    pub other_label: &'static str,
    pub unavailable: bool,
    pub error: Option<String>,
    pub email: String,
}

#[derive(Clone, Copy)]
enum Kind {
    Login,
    Signup,
}

impl Kind {
    fn page(self, error: Option<String>, email: String, unavailable: bool) -> LoginPage {
        let (heading, action, autocomplete, prompt, href, label) = match self {
            Kind::Login => (
                "Log in",
                "/login",
                "current-password",
                "No account yet?",
                "/signup",
                "Sign up",
            ),
            Kind::Signup => (
                "Sign up",
                "/signup",
                "new-password",
                "Have an account?",
                "/login",
                "Log in",
            ),
        };
        LoginPage {
            assets: &URLS,
            user: String::new(),
            heading,
            action,
            password_autocomplete: autocomplete,
            other_prompt: prompt,
            other_href: href,
            other_label: label,
            unavailable,
            error,
            email,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Kind::Login => "login",
            Kind::Signup => "signup",
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Credentials {
    email: Option<String>,
    password: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct UserForm {
    user_id: Option<String>,
}

async fn show(state: &AppState, kind: Kind) -> Response {
    match state.auth_enabled().await {
        Ok(false) => see_other("/", &[]),
        Ok(true) => Html(kind.page(None, String::new(), false)).into_response(),
        Err(_) => Html(kind.page(None, String::new(), true)).into_response(),
    }
}

async fn submit(state: &AppState, kind: Kind, form: Credentials) -> Response {
    let email = form.email.unwrap_or_default().trim().to_owned();
    let password = form.password.unwrap_or_default();
    match state
        .backend
        .authenticate(kind.path(), &email, &password)
        .await
    {
        Ok(reply) => {
            let Ok(user) = UserId::parse(&reply.user_id) else {
                let msg = "the backend returned an unusable user id".to_owned();
                return Html(kind.page(Some(msg), email, false)).into_response();
            };
            see_other(
                "/",
                &[
                    session::set_token(&reply.token),
                    session::set_user(&user),
                    session::clear(session::CONVERSATION),
                ],
            )
        }
        Err(e) => {
            let unavailable = e.is_unavailable();
            let msg = (!unavailable).then(|| match &e {
                crate::backend::BackendError::Status { message, .. } => message.clone(),
                other => other.to_string(),
            });
            Html(kind.page(msg, email, unavailable)).into_response()
        }
    }
}

pub async fn login_page(State(state): State<AppState>) -> Response {
    show(&state, Kind::Login).await
}

pub async fn signup_page(State(state): State<AppState>) -> Response {
    show(&state, Kind::Signup).await
}

pub async fn login(State(state): State<AppState>, Form(form): Form<Credentials>) -> Response {
    submit(&state, Kind::Login, form).await
}

pub async fn signup(State(state): State<AppState>, Form(form): Form<Credentials>) -> Response {
    submit(&state, Kind::Signup, form).await
}

pub async fn logout() -> Response {
    see_other(
        "/login",
        &[
            session::clear(session::TOKEN),
            session::clear(session::USER),
            session::clear(session::CONVERSATION),
        ],
    )
}

/// Chooses the user id when auth is off.
pub async fn choose_user(Form(form): Form<UserForm>) -> Response {
    // A form field is trimmed first; the rule itself takes the value as it is.
    match UserId::parse(form.user_id.as_deref().unwrap_or("").trim()) {
        Ok(user) => see_other(
            "/",
            &[
                session::set_user(&user),
                session::clear(session::CONVERSATION),
            ],
        ),
        Err(reason) => see_other(
            &format!("/?error={}", encode_query(&reason.to_string())),
            &[],
        ),
    }
}
