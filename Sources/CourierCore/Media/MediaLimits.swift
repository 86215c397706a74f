/// Limits on uploads that do not depend on configuration.
public enum MediaLimits {
    /// Bytes a file name may have (UTF-8), as most file systems allow.
    public static let maxFileNameBytes = 255
    /// Bytes a MIME type may have.
    public static let maxMimeTypeBytes = 127
    /// Unfinished uploads one person may have at once.
    public static let maxPendingUploads = 32
    /// Hours an unfinished upload is kept.
    public static let uploadLifetimeHours = 24
}
