//! HTTP client for the Gorgias API (to be written).
