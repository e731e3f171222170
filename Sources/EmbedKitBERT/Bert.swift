/// Namespace for the native BERT (all-MiniLM-L6-v2) implementation.
public enum Bert {}
