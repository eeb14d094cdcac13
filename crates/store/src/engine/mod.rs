//! The store's engine, apart from the repositories: connections kept open for the
//! hottest reads, the group-commit writer that batches small independent writes,
//! batch statements, and the change epoch other processes poll.

pub(crate) mod batch;
pub mod epoch;
pub(crate) mod kept;
pub(crate) mod writer;
