import CourierCore
import Foundation
import HTTPTypes
import Hummingbird

/// `/api/v1/subscriptions`: buy, show and cancel premium. Payments are stubs: logged, never charged.
struct SubscriptionController {
    let premium: PremiumService

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.post("purchase", use: purchase)
        group.get("me", use: me)
        group.post("cancel", use: cancel)
    }

    struct PurchaseRequest: Decodable {
        let subscriptionType: String
        let paymentMethod: String?

        enum CodingKeys: String, CodingKey {
            case subscriptionType = "subscription_type"
            case paymentMethod = "payment_method"
        }
    }

    struct SubscriptionResponse: Encodable {
        let id: String
        let userID: String
        let type: SubscriptionPlan
        let startDate: Timestamp
        let endDate: Timestamp
        let autoRenew: Bool
        let status: SubscriptionStatus

        enum CodingKeys: String, CodingKey {
            case id, type, status
            case userID = "user_id"
            case startDate = "start_date"
            case endDate = "end_date"
            case autoRenew = "auto_renew"
        }

        init(_ subscription: Subscription) {
            id = subscription.id.lowercasedString
            userID = subscription.userID.lowercasedString
            type = subscription.plan
            startDate = subscription.startDate
            endDate = subscription.endDate
            autoRenew = subscription.autoRenew
            status = subscription.status
        }
    }

    struct PaymentLogResponse: Encodable {
        let id: String
        let amount: Double
        let currency = "USD"
        let status: String
        let paymentMethod: String
        let notes: String?
        let createdAt: Timestamp

        enum CodingKeys: String, CodingKey {
            case id, amount, currency, status, notes
            case paymentMethod = "payment_method"
            case createdAt = "created_at"
        }

        init(_ payment: PaymentLog) {
            id = payment.id.lowercasedString
            amount = Double(payment.amountCents) / 100
            status = payment.status
            paymentMethod = payment.paymentMethod
            notes = payment.notes
            createdAt = payment.createdAt
        }
    }

    struct PurchaseResponse: ResponseEncodable {
        let subscription: SubscriptionResponse
        let paymentLog: PaymentLogResponse
        let message = "MVP: Payment stub activated. No real charge."

        enum CodingKeys: String, CodingKey {
            case subscription, message
            case paymentLog = "payment_log"
        }
    }

    struct StatusResponse: ResponseEncodable {
        let isPremium: Bool
        let subscription: SubscriptionResponse?

        enum CodingKeys: String, CodingKey {
            case subscription
            case isPremium = "is_premium"
        }
    }

    @Sendable func purchase(request: Request, context: AuthenticatedContext) async throws -> PurchaseResponse {
        let body = try await request.decodeJSON(as: PurchaseRequest.self, context: context)
        let result = try await premium.purchase(
            plan: body.subscriptionType, paymentMethod: body.paymentMethod ?? "stub",
            idempotencyKey: request.headers[.idempotencyKey], for: context.user.userID
        )
        return PurchaseResponse(subscription: SubscriptionResponse(result.subscription), paymentLog: PaymentLogResponse(result.payment))
    }

    @Sendable func me(request: Request, context: AuthenticatedContext) async throws -> StatusResponse {
        let subscription = try await premium.currentSubscription(of: context.user.userID)
        return StatusResponse(isPremium: subscription != nil, subscription: subscription.map(SubscriptionResponse.init))
    }

    @Sendable func cancel(request: Request, context: AuthenticatedContext) async throws -> StatusResponse {
        let subscription = try await premium.cancel(for: context.user.userID)
        return StatusResponse(isPremium: true, subscription: SubscriptionResponse(subscription))
    }
}

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
}
