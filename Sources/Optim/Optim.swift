/// Namespace of the Optim module (see Package.swift for the layering).
public enum OptimModule {
    public static let name = "Optim"
}
