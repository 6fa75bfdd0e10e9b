import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The data folder and the store's files are private to the daemon's user: the store holds full NINOs and
/// message bodies. They are created so whatever the umask, and anything found readable by others is named.
public enum StoreFiles {
    /// The store file and the side files SQLite keeps beside it (which it creates with the store's mode).
    public static func paths(ofStore store: String) -> [String] { [store, store + "-wal", store + "-shm"] }

    /// Creates `path` (and any missing parents) as a folder only its owner can enter (0700); a folder that is
    /// already there is left as it is, and `exposed` names it if it is open to others.
    public static func createPrivateFolder(_ path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // The umask can only take bits away from 0700, but say it outright.
        chmod(path, 0o700)
    }

    /// Creates the store file empty and private (0600) before SQLite opens it, so that SQLite gives its
    /// `-wal` and `-shm` files the same mode; an existing file is left as it is.
    public static func createPrivateFile(_ path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor < 0 {
            if errno == EEXIST { return }
            throw StoreError.cannotCreate(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        fchmod(descriptor, 0o600)
    }

    /// Those of `paths` that exist and that anyone but their owner may read, write or enter, with their modes.
    public static func exposed(_ paths: [String]) -> [(path: String, mode: Int)] {
        paths.compactMap { path in
            var status = stat()
            guard stat(path, &status) == 0, status.st_mode & 0o077 != 0 else { return nil }
            return (path, Int(status.st_mode & 0o777))
        }
    }

    /// The warning for files and folders open to others, or nil when there are none.
    public static func exposureWarning(_ paths: [String]) -> String? {
        let open = exposed(paths)
        guard !open.isEmpty else { return nil }
        let listed = open.map { "\($0.path) (\(String($0.mode, radix: 8)))" }.joined(separator: ", ")
        return "readable by others, though they hold full NINOs, message bodies or keys: \(listed); "
            + "make them private (chmod 700 for folders, 600 for files) and run Liaison with UMask=0077"
    }
}
