//! Reference WebSocket server embedding roomcore (work in progress).
