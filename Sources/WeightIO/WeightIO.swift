/// Namespace of the WeightIO module (see Package.swift for the layering).
public enum WeightIOModule {
    public static let name = "WeightIO"
}
