fn main() {
    println!("todo-backend: not built yet");
}
