fn main() -> std::process::ExitCode {
    handsync::cli::main()
}
