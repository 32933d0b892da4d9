//! The authority driven over real HTTPS: a server on a fresh data directory (in this process,
//! or `keyward serve` where a test needs a process to stop or kill), applications registered
//! through `keyward app`, assertions made here.

mod accepted;
mod attacks;
mod persistence;
mod shared_database;
