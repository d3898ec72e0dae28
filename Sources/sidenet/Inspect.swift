import ArgumentParser
import Foundation
import WeightIO

/// `sidenet inspect FILE`: what a weight file holds, without Python.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the tensors of a weight file (safetensors, torch zip .pth/.pt/.bin, or legacy torch).",
        discussion: """
            Prints one line per tensor (name, dtype, shape) sorted by name, then the tensor count, the \
            total element count, and the parameter count (floating tensors, excluding BatchNorm \
            running_mean / running_var / num_batches_tracked). The format is detected from the file's \
            bytes; pickles are parsed by a restricted reader and never executed.
            """)

    @Argument(help: "Weight file to inspect (.safetensors, .pth, .pt, .bin).")
    var file: String

    @Option(name: .long, help: "For torch files: path of keys (separated by '/') to a nested state_dict, e.g. 'model' or 'state_dict'.")
    var key: String?

    mutating func run() throws {
        let url = URL(fileURLWithPath: file)
        let tensors = try WeightFile.load(url, key: key)
        let names = tensors.keys.sorted()
        let width = min(names.map(\.count).max() ?? 4, 80)
        for n in names {
            let t = tensors[n]!
            let shape = "[" + t.shape.map(String.init).joined(separator: ", ") + "]"
            print(n.padding(toLength: max(width, n.count), withPad: " ", startingAt: 0) + "  "
                  + t.dtype.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0) + "  " + shape)
        }
        let s = WeightSummary(tensors)
        print("tensors:    \(s.tensorCount)")
        print("elements:   \(s.elementCount)")
        print("parameters: \(s.parameterCount)")
    }
}
