/// Namespace of the Datasets module (see Package.swift for the layering).
public enum DatasetsModule {
    public static let name = "Datasets"
}
