import CourierCore

/// Counts the messages stored, as a subscriber of "update stored" (the one event every way of
/// sending goes through: REST, WebSocket, channels, bots).
struct StoredMessageCounter: UpdateSubscriber {
    let metrics: ServerMetrics

    func updatesStored(_ stored: StoredUpdates) async {
        let count = stored.updates.chat.filter { $0.kind == .newMessage }.count
        if count > 0 { metrics.messagesStored.increment(by: count) }
    }
}
