/// The Skiff release, reported by `Version`, `--version` and the Debian package.
public enum SkiffVersion {
    public static let current = "0.1.0"
}
