//! roomcore replicated on openraft (work in progress).
