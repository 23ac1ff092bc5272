//! HTTP plumbing the protocol adapters share, so that every surface treats hostile input the
//! same way: bodies read with a size limit and unique keys ([`read_json_object`]), a deadline
//! for a body to arrive ([`BodyDeadline`]), caps on concurrent connections ([`ConnectionLimits`]),
//! the cross-site request check ([`OriginPolicy`]) and bounded echoes of input in error
//! messages ([`echo`]). Each adapter turns these errors into its own error shape; nothing here
//! knows a protocol.

mod body;
mod connections;
mod deadline;
mod echo;
mod origin;

pub use body::{BodyError, parse_json_object, read_body, read_json_object};
pub use connections::{ConnectionLimits, refuse_over_limit};
pub use deadline::{BodyDeadline, enforce_body_deadline};
pub use echo::{MAX_ECHO_CHARS, echo};
pub use origin::{CrossSiteRequest, OriginPolicy};
