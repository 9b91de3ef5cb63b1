# The build of deploy/docker/Dockerfile for BuildKit engines, with cache mounts: the Cargo registry
# and the target directory stay between builds, so a change to a manifest or Cargo.lock recompiles
# only the dependencies that changed instead of all of them, and the workspace crates are rebuilt
# from cargo's own fingerprints. BuildKit only (the classic builder rejects `RUN --mount`):
#
#   DOCKER_BUILDKIT=1 docker build -f deploy/docker/buildkit.Dockerfile --target backend -t todo-backend:dev .
#
# Same stages, build arguments (PROFILE, RUST_IMAGE, RUNTIME_IMAGE, VERSION, REVISION, SOURCE),
# runtime targets and image contents as Dockerfile; only the RUN steps of `deps` and of the app
# build stages differ, by their cache mounts (deploy/tests checks that the two files agree
# otherwise). The compiled dependencies live in the target cache mount, not in the `deps` layer:
# when the builder's cache is pruned, the next build compiles them again inside the app stage
# (slower, same result).

ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${RUST_IMAGE} AS skeleton
WORKDIR /src
COPY . .
# Manifests, the lock file and empty stubs of the declared targets (see skeleton.sh).
RUN sh deploy/docker/skeleton.sh /src /skeleton

FROM ${RUST_IMAGE} AS deps
ARG PROFILE=release
# Inherited by the build stages below. RUSTFLAGS apply to the binaries only: with --target
# given, build scripts and proc macros are built for the host without them.
ENV CARGO_TERM_COLOR=never CARGO_INCREMENTAL=0 PROFILE=${PROFILE} \
    RUSTFLAGS="-C target-feature=+crt-static"
WORKDIR /src
COPY --from=skeleton /skeleton/ ./
# One cargo call per app: each resolves its own feature set, which the app stage then reuses.
RUN --mount=type=cache,id=todo-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=todo-cargo-target,target=/src/target,sharing=locked \
    set -eu; \
    target=$(rustc --print host-tuple); \
    cargo build --locked --profile "$PROFILE" --target "$target" -p todo-backend; \
    cargo build --locked --profile "$PROFILE" --target "$target" -p todo-frontend

FROM deps AS backend-build
COPY crates/ crates/
COPY app/backend/ app/backend/
# The stubs above were compiled after the real files were last modified: touch the real sources so
# cargo's mtime check rebuilds the workspace crates instead of shipping the stubs.
RUN --mount=type=cache,id=todo-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=todo-cargo-target,target=/src/target,sharing=locked \
    set -eu; \
    find crates app/backend -type f -exec touch {} +; \
    target=$(rustc --print host-tuple); \
    cargo build --locked --profile "$PROFILE" --target "$target" -p todo-backend; \
    mkdir -p /out/data; \
    cp "target/$target/$PROFILE/todo-backend" /out/

FROM ${RUNTIME_IMAGE} AS runtime-base
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/todo-chatbot-k8s/todo-chatbot-k8s
LABEL org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.vendor="todo-chatbot-k8s"
ENV LOG_FORMAT=json HOST=0.0.0.0
# The user of the distroless :nonroot images, by number so that Kubernetes' runAsNonRoot can check it.
USER 65532:65532

FROM runtime-base AS backend
LABEL org.opencontainers.image.title="todo-backend" \
      org.opencontainers.image.description="Todo chatbot backend: REST API, chat agent, MCP server"
# SQLite lives on a volume mounted at /data; the root file system can stay read-only.
COPY --from=backend-build --chown=65532:65532 /out/data /data
COPY --from=backend-build /out/todo-backend /usr/local/bin/todo-backend
ENV PORT=8000 DATABASE_URL=sqlite:///data/todo.db
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/todo-backend", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/todo-backend"]

FROM deps AS frontend-build
COPY crates/ crates/
COPY app/frontend/ app/frontend/
RUN --mount=type=cache,id=todo-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=todo-cargo-target,target=/src/target,sharing=locked \
    set -eu; \
    find crates app/frontend -type f -exec touch {} +; \
    target=$(rustc --print host-tuple); \
    cargo build --locked --profile "$PROFILE" --target "$target" -p todo-frontend; \
    mkdir -p /out; \
    cp "target/$target/$PROFILE/todo-frontend" /out/

FROM runtime-base AS frontend
LABEL org.opencontainers.image.title="todo-frontend" \
      org.opencontainers.image.description="Todo chatbot web frontend and /api proxy"
COPY --from=frontend-build /out/todo-frontend /usr/local/bin/todo-frontend
ENV PORT=3000
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/todo-frontend", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/todo-frontend"]
