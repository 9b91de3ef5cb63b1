//! The Secret and the files around it: which database the backend uses, the Secret's keys from
//! `.env` (the PostgreSQL password generated once and kept in `.env`), its rollout token, and
//! the private temporary file the chart's generated values go to.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{Database, DeployStage, raw};
use crate::ctx::Ctx;
use crate::error::usage;
use crate::project::objects::{HASH_ANNOTATION, SECRET_NAME, TOKEN_ANNOTATION};
use crate::tools::kubectl::Object;

/// Where the generated POSTGRES_PASSWORD is kept.
pub const DOTENV: &str = ".env";

impl DeployStage {
    /// Which database, from the setting and `.env`.
    pub(super) fn database(&self, env: &BTreeMap<String, String>) -> Result<Database> {
        let url = env.get("DATABASE_URL").map(String::as_str).unwrap_or("");
        let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        Ok(match self.config.deploy.database.as_str() {
            "sqlite" => Database::Sqlite,
            "internal" => Database::Internal,
            "external" if postgres => Database::External,
            "external" => {
                return Err(usage(
                    "deploy.database is `external` but .env has no postgres:// DATABASE_URL",
                    "put DATABASE_URL=postgres://USER:PASSWORD@HOST/DB?sslmode=require in .env (see .env.example), or set deploy.database to sqlite or internal",
                ));
            }
            _ if postgres => Database::External,
            _ => Database::Sqlite,
        })
    }

    /// The Secret's keys: `.env`'s values, the database URL of the mode, and the PostgreSQL
    /// password (from `.env`, else generated once and then kept in `.env`).
    pub(super) fn secret_data(
        &mut self,
        cx: &Ctx,
        env: &BTreeMap<String, String>,
        database: Database,
    ) -> Result<BTreeMap<String, String>> {
        let mut data = BTreeMap::new();
        for key in ["OPENAI_API_KEY", "AUTH_SECRET"] {
            if let Some(v) = env.get(key).filter(|v| !v.is_empty()) {
                data.insert(key.to_string(), v.clone());
            }
        }
        match database {
            Database::External => {
                data.insert("DATABASE_URL".into(), env["DATABASE_URL"].clone());
            }
            Database::Sqlite => {
                data.insert("DATABASE_URL".into(), "sqlite:///data/todo.db".into());
            }
            Database::Internal => {
                let password = match env.get("POSTGRES_PASSWORD").filter(|v| !v.is_empty()) {
                    Some(p) => p.clone(),
                    None => {
                        let p = random_password()?;
                        self.generated_password = Some(p.clone());
                        p
                    }
                };
                cx.runner.add_secret(&password);
                let host = if self.opts.helm {
                    format!("{}-postgres", self.fullname())
                } else {
                    "todo-chatbot-postgres".into()
                };
                // Percent-encoded: a password of the user's own (`.env`) may hold characters a
                // URL reserves (`openssl rand -base64` gives `/` and `+`); the driver decodes it.
                let url = format!(
                    "postgres://todo:{}@{host}:5432/todo",
                    url_userinfo(&password)
                );
                cx.runner.add_secret(&url_userinfo(&password));
                cx.runner.add_secret(&url);
                data.insert("DATABASE_URL".into(), url);
                data.insert("POSTGRES_PASSWORD".into(), password);
            }
        }
        Ok(data)
    }

    /// The Secret's rollout token, kept from the live Secret (among `listed`) while its content
    /// is unchanged; the Secret's documents are stamped with it. The pods carry the token, never
    /// a hash of the values.
    pub(super) fn seal_secret(
        &mut self,
        listed: &[Object],
        secret: &BTreeMap<String, String>,
    ) -> Result<String> {
        let live = listed
            .iter()
            .find(|o| o.kind == "Secret" && o.name == SECRET_NAME)
            .and_then(|o| {
                Some((
                    o.annotations.get(HASH_ANNOTATION)?.as_str(),
                    o.annotations.get(TOKEN_ANNOTATION)?.as_str(),
                ))
            });
        let rendered = raw::secret_yaml(self.ns(), secret);
        let token = raw::rollout_token(&rendered, live)?;
        for doc in self.docs.iter_mut().filter(|d| d.secret) {
            *doc = raw::Doc::secret(&doc.source, &rendered, &token)?;
        }
        Ok(token)
    }
}

/// 32 letters and digits from the OS's random source (getrandom: Unix and Windows alike) (URL-safe, so the database URL needs no
/// escaping).
pub(super) fn random_password() -> Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 64];
    getrandom::fill(&mut bytes).map_err(|e| {
        anyhow::anyhow!("the OS random source failed ({e}) making a PostgreSQL password")
    })?;
    // 248 = 4 * 62: dropping bytes above it keeps every character equally likely.
    let chars: String = bytes
        .iter()
        .filter(|b| **b < 248)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .take(32)
        .collect();
    if chars.len() < 32 {
        anyhow::bail!("the random source gave too few usable bytes; run the deploy again");
    }
    Ok(chars)
}

/// A file only this user can read, in a private temporary directory (mode 0700 on Unix, the
/// user's own temp folder on Windows), created exclusively (an existing file or a link in its
/// place is an error, never followed); the directory and the file go when dropped.
pub(super) struct TempFile {
    pub(super) path: PathBuf,
    _dir: tempfile::TempDir,
}

impl TempFile {
    pub(super) fn write(name: &str, text: &str) -> Result<TempFile> {
        let dir = tempfile::Builder::new()
            .prefix("todo-chatbot-")
            .tempdir()
            .context("could not create a private temporary directory")?;
        // Only this user may list or enter it (nobody else can write into it either way). On
        // Windows the folder is made in the user's own %TEMP% (in the user profile), whose ACL
        // grants only the user, SYSTEM and Administrators, and the file inherits that ACL.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("making {} private", dir.path().display()))?;
        }
        let path = dir.path().join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        f.write_all(text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(TempFile { path, _dir: dir })
    }
}

/// `text` as it may stand in a URL's user or password: every byte but the unreserved ones
/// (letters, digits, `-._~`) percent-encoded.
pub(super) fn url_userinfo(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Appends `POSTGRES_PASSWORD=...` to `.env` (created with mode 0600 when missing).
pub(super) fn save_password(path: &Path, password: &str) -> Result<()> {
    let existing = std::fs::read_to_string(path).unwrap_or_default();
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    // On Windows a new file gets the ACL of the user's project folder.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("opening {} to keep the PostgreSQL password", path.display()))?;
    let sep = if existing.is_empty() || existing.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    write!(
        f,
        "{sep}# Generated by `cargo xtask deploy` for the in-cluster PostgreSQL; keep it (the data volume was made with it).\nPOSTGRES_PASSWORD={password}\n"
    )
    .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
