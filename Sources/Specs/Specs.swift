/// Namespace of the Specs module (see Package.swift for the layering).
public enum SpecsModule {
    public static let name = "Specs"
}
