//! The typed SyncML model (SyncHdr, SyncBody, commands, MetInf, DevInf) and its XML and WBXML
//! mappings.

pub mod san;
