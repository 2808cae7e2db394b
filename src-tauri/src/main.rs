// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use keyturn::launch::{self, Launch};

fn main() {
    keyturn::log::private_umask();
    match Launch::from_args(std::env::args().skip(1)) {
        Launch::PrintVersion => println!("{}", launch::version()),
        Launch::PrintHelp => print!("{}", launch::help()),
        Launch::Window => keyturn::run(),
    }
}
