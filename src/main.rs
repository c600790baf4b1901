//! The `calimap` command: parse the command line, run, map errors to exit codes.

use clap::Parser;

fn main() {
    let cli = calimap::cmd::Cli::parse();
    if let Err(err) = calimap::cmd::dispatch(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
