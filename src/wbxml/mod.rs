//! WBXML (WAP Binary XML 1.1/1.2/1.3) codec with the SyncML, MetInf and DevInf code pages.
