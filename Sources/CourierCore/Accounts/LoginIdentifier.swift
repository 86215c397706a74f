/// The one thing a person types to say who they are when signing in.
public enum LoginIdentifier: Sendable, Equatable {
    case phone(PhoneNumber)
    case username(Username)
    case email(EmailAddress)
}
