/// Namespace of the Report module (see Package.swift for the layering).
public enum ReportModule {
    public static let name = "Report"
}
