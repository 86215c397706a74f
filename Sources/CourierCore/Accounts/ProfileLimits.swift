/// Size limits of free-text profile fields, enforced by the account service.
public enum ProfileLimits {
    public static let bioCharacters = 500
    public static let avatarURLBytes = 2048
    public static let deviceNameCharacters = 128
}
