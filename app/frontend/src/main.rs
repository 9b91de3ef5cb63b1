fn main() {
    println!("todo-frontend: not built yet");
}
