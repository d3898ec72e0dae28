import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What is at a path that a reader expects to be a regular file (symbolic links followed).
/// Readers check this first, so a directory, a FIFO or a device gets a plain message instead of
/// Foundation's "error 256" (and a FIFO never blocks the reader). Specs and Tokenizer keep a copy
/// of this function because they sit beside Tensors, not above it.
public enum FileKind {
    /// The size in bytes of the regular file at `path`, or why it is not one.
    public static func regularFileSize(atPath path: String) -> Result<Int, FileKindProblem> {
        var st = stat()
        guard stat(path, &st) == 0 else {
            switch errno {
            case ENOENT, ENOTDIR: return .failure(FileKindProblem("does not exist"))
            case EACCES: return .failure(FileKindProblem("permission denied"))
            default: return .failure(FileKindProblem(String(cString: strerror(errno))))
            }
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .success(Int(st.st_size))
        case S_IFDIR: return .failure(FileKindProblem("is a directory, expected a file"))
        case S_IFIFO: return .failure(FileKindProblem("is a FIFO (named pipe), expected a regular file"))
        case S_IFSOCK: return .failure(FileKindProblem("is a socket, expected a regular file"))
        case S_IFCHR, S_IFBLK: return .failure(FileKindProblem("is a device, expected a regular file"))
        default: return .failure(FileKindProblem("is not a regular file"))
        }
    }

    /// nil when `path` is a readable regular file, else the reason it is not.
    public static func problem(atPath path: String) -> String? {
        switch regularFileSize(atPath: path) {
        case .success: return access(path, R_OK) == 0 ? nil : "permission denied"
        case .failure(let p): return p.reason
        }
    }
}

/// Why a path is not a regular file ("is a directory, expected a file", ...).
public struct FileKindProblem: Error, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
