/// Namespace of the Runner module (see Package.swift for the layering).
public enum RunnerModule {
    public static let name = "Runner"
}
