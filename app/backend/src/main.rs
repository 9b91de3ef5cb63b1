//! The `todo-backend` binary; everything lives in the library so tests run the same code.

fn main() -> std::process::ExitCode {
    todo_backend::cli::run(std::env::args())
}
