#![doc = include_str!("../README.md")]

mod compile;
mod error;
mod program;

pub use compile::{DEFAULT_FAILURE_CODE, compile, compile_validated, compile_with};
pub use error::CompileError;
pub use program::{
    Completion, INVITATION_NODE_ID, MergedPassword, Op, PROGRAM_FORMAT, PasswordPolicy, Program,
    Step, SwitchCase, WebhookCall,
};
