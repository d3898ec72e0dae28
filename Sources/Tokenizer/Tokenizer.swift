/// Namespace of the Tokenizer module (see Package.swift for the layering).
public enum TokenizerModule {
    public static let name = "Tokenizer"
}
