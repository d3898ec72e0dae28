/// Every MainNet family the harness knows, by name. Adding a family = its folder under
/// Sources/Models plus one line here.
public enum MainNetRegistry {
    public static let families: [any MainNetFamily] = [
        ResNetFamily(),
        BertFamily(),
        DistilBertFamily(),
        VGGFamily(),
    ]

    /// Every arch name a spec or `sidenet model` accepts: each family's presets, then its name.
    public static var archNames: [String] { families.flatMap { $0.presetNames + [$0.name] } }

    /// The family an arch name belongs to (a preset or the family's own name).
    public static func family(forArch arch: String) -> (any MainNetFamily)? {
        families.first { $0.name == arch || $0.presetNames.contains(arch) }
    }

    /// Like `family(forArch:)`, throwing `unknownArchitecture` with the known names.
    public static func requireFamily(forArch arch: String) throws -> any MainNetFamily {
        guard let f = family(forArch: arch) else { throw ModelError.unknownArchitecture(arch, known: archNames) }
        return f
    }

    /// Arch names whose family reads `kind` inputs.
    public static func archNames(reading kind: InputKind) -> [String] {
        families.filter { $0.inputKind == kind }.flatMap { $0.presetNames + [$0.name] }
    }
}
