//! `handsync account add|list|remove`. The password never reaches the output or the logs:
//! the store keeps only md5("name:password").

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use clap::{Args, Subcommand};

use super::support::{format_time, now, open_store};
use super::Failure;

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Create an account for phones to log in with.
    Add(AddArgs),
    /// List the accounts (names and creation times).
    List,
    /// Delete an account.
    Remove {
        /// The account's name.
        name: String,
    },
}

#[derive(Args)]
pub struct AddArgs {
    /// The account's name (the phone's user name; no ':').
    name: String,
    /// The password (visible in the process list and shell history: prefer
    /// --password-stdin).
    #[arg(long, conflicts_with = "password_stdin")]
    password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    /// The account's phones sync data of its own, which no other account sees (the default
    /// on a PostgreSQL store, which hosts many users).
    #[arg(long, conflicts_with = "shared")]
    own_data: bool,
    /// The account's phones share the household's data with every phone that needs no
    /// login (the default on an SQLite store).
    #[arg(long)]
    shared: bool,
}

// Written by hand so that `{:?}` of the arguments (clap, tracing) never shows the password.
impl std::fmt::Debug for AddArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddArgs")
            .field("name", &self.name)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("password_stdin", &self.password_stdin)
            .field("own_data", &self.own_data)
            .field("shared", &self.shared)
            .finish()
    }
}

pub fn run(db: &Path, command: AccountCommand) -> Result<(), Failure> {
    let mut store = open_store(db)?;
    match command {
        AccountCommand::Add(args) => {
            let password = password(&args)?;
            let own_data = if args.own_data || args.shared {
                args.own_data
            } else {
                store.is_postgres()
            };
            store.transaction(|tx| tx.add_account_with(&args.name, &password, own_data, now()))?;
            let data = if own_data {
                "with data of its own"
            } else {
                "sharing the household's data"
            };
            println!("account {} added, {data}", args.name);
        }
        AccountCommand::List => {
            let accounts = store.read(|tx| tx.accounts())?;
            if accounts.is_empty() {
                println!("no accounts (add one: handsync account add NAME --password-stdin)");
            }
            for account in accounts {
                let data = if account.own_data {
                    "own data"
                } else {
                    "household's data"
                };
                println!(
                    "{}\tcreated {}\t{data}",
                    account.name,
                    format_time(account.created_at)
                );
            }
        }
        AccountCommand::Remove { name } => {
            store.transaction(|tx| tx.remove_account(&name))?;
            println!("account {name} removed");
        }
    }
    Ok(())
}

fn password(args: &AddArgs) -> Result<String, Failure> {
    if let Some(password) = &args.password {
        return Ok(password.clone());
    }
    if !args.password_stdin {
        return Err(Failure::bad_input(
            "account add needs --password PW or --password-stdin",
        ));
    }
    let on_terminal = std::io::stdin().is_terminal();
    let line = {
        // Typed at a terminal, the password is not shown: echo goes off before the prompt
        // and comes back once the line is read.
        let _quiet = on_terminal.then(EchoOff::new).flatten();
        if on_terminal {
            eprint!("password for {}: ", args.name);
        }
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::io(format!("cannot read the password from stdin: {e}")))?;
        line
    };
    if on_terminal {
        eprintln!();
    }
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err(Failure::bad_input("the password read from stdin is empty"));
    }
    Ok(password)
}

/// The terminal on standard input with echo off, until dropped.
struct EchoOff {
    saved: libc::termios,
}

impl EchoOff {
    fn new() -> Option<EchoOff> {
        // SAFETY: tcgetattr and tcsetattr on descriptor 0 with a termios we own.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut saved) != 0 {
                return None;
            }
            let mut quiet = saved;
            quiet.c_lflag &= !libc::ECHO;
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &quiet) != 0 {
                return None;
            }
            Some(EchoOff { saved })
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `new` on the same descriptor.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved);
        }
    }
}
