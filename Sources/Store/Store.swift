/// Namespace of the Store module (see Package.swift for the layering).
public enum StoreModule {
    public static let name = "Store"
}
