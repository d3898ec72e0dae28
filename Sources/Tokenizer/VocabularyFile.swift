import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// nil when `path` is a readable regular file (symbolic links followed), else why it is not.
/// A copy of `Tensors.FileKind.problem`: Tokenizer sits beside Tensors, not above it.
func vocabularyFileProblem(_ path: String) -> String? {
    var st = stat()
    guard stat(path, &st) == 0 else { return errno == ENOENT ? "does not exist" : String(cString: strerror(errno)) }
    switch st.st_mode & S_IFMT {
    case S_IFREG: return access(path, R_OK) == 0 ? nil : "permission denied"
    case S_IFDIR: return "is a directory, expected a file"
    case S_IFIFO: return "is a FIFO (named pipe), expected a regular file"
    default: return "is not a regular file"
    }
}
