/// Namespace of the Models module (see Package.swift for the layering).
public enum ModelsModule {
    public static let name = "Models"
}
