/// The bounds of call signalling.
public enum CallLimits {
    /// How long every device of the callee rings before the call ends as missed.
    public static let ringingSeconds: Int64 = 30
    /// How long a side of an answered call may stay silent (no frame, no `call_ping`) before the
    /// call ends as lost: a crashed device cannot keep both people "busy" for good.
    public static let silenceSeconds: Int64 = 60
    /// The largest session description (SDP) an invite or an answer may carry.
    public static let maxSDPBytes = 16 * 1024
    /// The largest ICE candidate line.
    public static let maxCandidateBytes = 1024
}
