"""The pipeline stages, in order: read → normalize → fingerprint → candidates →
verify → cluster → align → write.  Each module documents its data contract."""
