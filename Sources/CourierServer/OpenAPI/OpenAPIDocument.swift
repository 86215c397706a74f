/// The OpenAPI 3.1 description of the whole REST API, served at `/api/v1/openapi.yaml`.
///
/// Kept in the binary, so a deployed `courier` needs no resource files. `OpenAPITests` fails when a
/// route exists without being described here, or the other way round.
enum OpenAPIDocument {
    static let yaml = #"""
openapi: 3.1.0
info:
  title: Courier API
  version: "1.0"
  description: |
    REST API of Courier, a self-hosted messenger. JSON in and out; times are ISO 8601 UTC with
    milliseconds; ids are UUIDs. Every error is `{"error":{"code","message","field"?}}`.
servers:
  - url: /
security:
  - bearer: []
tags:
  - name: health
  - name: auth
  - name: users
  - name: chats
  - name: messages
  - name: channels
  - name: subscriptions
  - name: telegram
  - name: web
paths:
  /health:
    get:
      tags: [health]
      summary: Liveness and database check
      security: []
      responses:
        "200": { description: Healthy, content: { application/json: { schema: { $ref: "#/components/schemas/Health" } } } }
        "503": { description: A part is failing, content: { application/json: { schema: { $ref: "#/components/schemas/Health" } } } }
  /api/v1/openapi.yaml:
    get:
      tags: [health]
      summary: This document
      security: []
      responses:
        "200": { description: The OpenAPI document, content: { application/yaml: { schema: { type: string } } } }
  /ws:
    get:
      tags: [health]
      summary: WebSocket for real-time delivery (frames are described in the README)
      description: |
        Upgrade with the access token as a Bearer header or `?token=`. A refused upgrade answers with
        the JSON error and closes: 401 `unauthorized`, `token_invalid`, `token_expired` or
        `session_revoked`; 429 `too_many_connections_for_user` or `rate_limited`; 503
        `too_many_connections`. Without upgrade headers it answers 400 `upgrade_required` (or the
        same refusals). The server closes a socket with 4001 when its session is signed out and 4002
        when its access token expires.
      parameters:
        - { name: token, in: query, schema: { type: string }, description: "The access token, when no Authorization header can be set" }
      responses:
        "101": { description: Switched to WebSocket }
        "400": { $ref: "#/components/responses/Error" }
        "401": { $ref: "#/components/responses/Error" }
        "429": { $ref: "#/components/responses/Error" }
        "503": { $ref: "#/components/responses/Error" }
  /api/v1/auth/register:
    post:
      tags: [auth]
      summary: Create an account and sign in
      security: []
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [phone, password, username]
              properties:
                phone: { type: string, description: "E.164, e.g. +14155550123" }
                email: { type: string, format: email }
                password: { type: string, minLength: 8, description: "8 characters to 72 bytes" }
                username: { type: string, pattern: "^[a-zA-Z0-9_]{5,32}$" }
                device_name: { type: string, maxLength: 128 }
      responses:
        "201": { $ref: "#/components/responses/SignedIn" }
        "400": { $ref: "#/components/responses/Error" }
        "409": { $ref: "#/components/responses/Error" }
        "413": { $ref: "#/components/responses/Error" }
        "422": { $ref: "#/components/responses/Error" }
  /api/v1/auth/login:
    post:
      tags: [auth]
      summary: Sign in with phone, username or email
      security: []
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [password]
              description: Exactly one of phone, username, email.
              properties:
                phone: { type: string }
                username: { type: string }
                email: { type: string }
                password: { type: string }
                device_name: { type: string }
                totp_code: { type: string, description: "With two-factor on: the authenticator app's code" }
                recovery_code: { type: string, description: "With two-factor on: instead of a code, a single-use recovery code" }
      responses:
        "200": { $ref: "#/components/responses/SignedIn" }
        "400": { $ref: "#/components/responses/Error" }
        "401": { $ref: "#/components/responses/Error" }
        "429": { $ref: "#/components/responses/Error" }
  /api/v1/auth/refresh:
    post:
      tags: [auth]
      summary: Exchange a refresh token for a new pair (rotation; reuse signs the session out)
      security: []
      requestBody:
        required: true
        content:
          application/json:
            schema: { type: object, required: [refresh_token], properties: { refresh_token: { type: string } } }
      responses:
        "200": { description: New tokens, content: { application/json: { schema: { $ref: "#/components/schemas/Tokens" } } } }
        "401": { $ref: "#/components/responses/Error" }
  /api/v1/auth/logout:
    post:
      tags: [auth]
      summary: Sign this device out
      responses:
        "204": { description: Signed out }
        "401": { $ref: "#/components/responses/Error" }
  /api/v1/auth/sessions:
    get:
      tags: [auth]
      summary: Signed-in devices
      responses:
        "200":
          description: Sessions
          content:
            application/json:
              schema:
                type: object
                properties: { sessions: { type: array, items: { $ref: "#/components/schemas/Session" } } }
        "401": { $ref: "#/components/responses/Error" }
  /api/v1/auth/sessions/{id}:
    delete:
      tags: [auth]
      summary: Sign one device out
      parameters: [{ $ref: "#/components/parameters/Id" }]
      responses:
        "204": { description: Signed out }
        "404": { $ref: "#/components/responses/Error" }
  /api/v1/auth/2fa:
    get:
      tags: [auth]
      summary: Whether two-factor authentication is on
      responses:
        "200": { description: Status, content: { application/json: { schema: { type: object, properties: { enabled: { type: boolean } } } } } }
  /api/v1/auth/2fa/setup:
    post:
      tags: [auth]
      summary: Start TOTP enrolment
      responses:
        "200":
          description: The secret (base32) and its otpauth URI
          content:
            application/json:
              schema: { type: object, properties: { secret: { type: string }, otpauth_uri: { type: string } } }
        "409": { $ref: "#/components/responses/Error" }
  /api/v1/auth/2fa/confirm:
    post:
      tags: [auth]
      summary: Confirm enrolment with a first code; returns ten single-use recovery codes
      requestBody:
        required: true
        content: { application/json: { schema: { type: object, required: [code], properties: { code: { type: string } } } } }
      responses:
        "200":
          description: "Two-factor is on; the recovery codes are shown only now"
          content:
            application/json:
              schema: { type: object, properties: { enabled: { type: boolean }, recovery_codes: { type: array, items: { type: string } } } }
        "401": { $ref: "#/components/responses/Error" }
        "409": { $ref: "#/components/responses/Error" }
  /api/v1/auth/2fa/disable:
    post:
      tags: [auth]
      summary: Turn two-factor off (password and a code or recovery code)
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [password]
              properties: { password: { type: string }, code: { type: string }, recovery_code: { type: string } }
      responses:
        "200": { description: "Two-factor is now off", content: { application/json: { schema: { type: object, properties: { enabled: { type: boolean } } } } } }
        "401": { $ref: "#/components/responses/Error" }
        "429": { $ref: "#/components/responses/Error" }
  /api/v1/users/me:
    get:
      tags: [users]
      summary: Your profile
      responses:
        "200": { description: Profile, content: { application/json: { schema: { $ref: "#/components/schemas/User" } } } }
        "401": { $ref: "#/components/responses/Error" }
    patch:
      tags: [users]
      summary: Change your profile (null clears email, bio, avatar_url)
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                username: { type: string }
                email: { type: [string, "null"] }
                bio: { type: [string, "null"], maxLength: 500 }
                avatar_url: { type: [string, "null"], format: uri }
      responses:
        "200": { description: Profile, content: { application/json: { schema: { $ref: "#/components/schemas/User" } } } }
        "409": { $ref: "#/components/responses/Error" }
        "422": { $ref: "#/components/responses/Error" }
  /api/v1/users/{id}:
    get:
      tags: [users]
      summary: Someone's public profile
      parameters: [{ $ref: "#/components/parameters/Id" }]
      responses:
        "200": { description: Public profile, content: { application/json: { schema: { $ref: "#/components/schemas/PublicUser" } } } }
        "404": { $ref: "#/components/responses/Error" }
  /api/v1/users:
    get:
      tags: [users]
      summary: Exact lookup by username or phone
      parameters:
        - { name: username, in: query, schema: { type: string } }
        - { name: phone, in: query, schema: { type: string } }
      responses:
        "200": { description: Public profile, content: { application/json: { schema: { $ref: "#/components/schemas/PublicUser" } } } }
        "400": { $ref: "#/components/responses/Error" }
        "404": { $ref: "#/components/responses/Error" }
  /api/v1/chats:
    post:
      tags: [chats]
      summary: Create a group, or find or create a DM
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [type]
              properties:
                type: { type: string, enum: [group, dm] }
                name: { type: string, maxLength: 255, description: groups }
                member_ids: { type: array, items: { type: string, format: uuid }, description: groups }
                user_id: { type: string, format: uuid, description: DMs }
      responses:
        "201": { $ref: "#/components/responses/Chat" }
        "200": { $ref: "#/components/responses/Chat" }
        "403": { $ref: "#/components/responses/Error" }
        "422": { $ref: "#/components/responses/Error" }
    get:
      tags: [chats]
      summary: Your chats, newest activity first
      parameters: [{ $ref: "#/components/parameters/Limit" }, { $ref: "#/components/parameters/Offset" }]
      responses:
        "200":
          description: Chats
          content:
            application/json:
              schema:
                type: object
                properties:
                  chats: { type: array, items: { $ref: "#/components/schemas/Chat" } }
                  total: { type: integer }
                  has_more: { type: boolean }
        "400": { $ref: "#/components/responses/Error" }
  /api/v1/chats/{id}:
    get:
      tags: [chats]
      summary: One of your chats
      parameters: [{ $ref: "#/components/parameters/Id" }]
      responses:
        "200": { $ref: "#/components/responses/Chat" }
        "404": { $ref: "#/components/responses/Error" }
    patch:
      tags: [chats]
      summary: Rename (owner and admins)
      parameters: [{ $ref: "#/components/parameters/Id" }]
      requestBody:
        required: true
        content: { application/json: { schema: { type: object, properties: { name: { type: string } } } } }
      responses:
        "200": { $ref: "#/components/responses/Chat" }
        "403": { $ref: "#/components/responses/Error" }
        "404": { $ref: "#/components/responses/Error" }
  /api/v1/chats/{id}/members:
    get:
      tags: [chats]
      summary: Members, owner and admins first
      parameters: [{ $ref: "#/components/parameters/Id" }, { $ref: "#/components/parameters/Limit" }, { $ref: "#/components/parameters/Offset" }]
      responses:
        "200":
          description: Members
          content:
            application/json:
              schema:
                type: object
                properties:
                  total: { type: integer }
                  members:
                    type: array
                    items:
                      type: object
                      properties:
                        user: { $ref: "#/components/schemas/PublicUser" }
                        role: { $ref: "#/components/schemas/Role" }
                        joined_at: { type: string, format: date-time }
        "403": { $ref: "#/components/responses/Error" }
        "404": { $ref: "#/components/responses/Error" }
    post:
      tags: [chats]
      summary: Add members to a group (owner and admins; 200 members unless the owner is premium)
      parameters: [{ $ref: "#/components/parameters/Id" }]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                user_ids: { type: array, items: { type: string, format: uuid } }
                user_id: { type: string, format: uuid }
      responses:
        "200":
          description: Added
          content:
            application/json:
              schema:
                type: object
                properties:
                  added: { type: array, items: { type: string, format: uuid } }
                  member_count: { type: integer }
        "403": { $ref: "#/components/responses/Error" }
        "404": { $ref: "#/components/responses/Error" }
        "422": { $ref: "#/components/responses/Error" }
  /api/v1/chats/{id}/members/{userId}:
    delete:
      tags: [chats]
      summary: Remove a member (your own id leaves)
      parameters: [{ $ref: "#/components/parameters/Id" }, { $ref: "#/components/parameters/UserId" }]
      responses:
        "204": { description: Removed }
        "403": { $ref: "#/components/responses/Error" }
        "404": { $ref: "#/components/responses/Error" }
    patch:
      tags: [chats]
      summary: Make a member admin or take it back (owner)
      parameters: [{ $ref: "#/components/parameters/Id" }, { $ref: "#/components/parameters/UserId" }]
      requestBody:
        required: true
        content:
          application/json:
            schema: { type: object, required: [role], properties: { role: { type: string, enum: [admin, member, subscriber] } } }
      responses:
        "200":
          description: New role
          content:
            application/json:
              schema:
                type: object
                properties: { chat_id: { type: string }, user_id: { type: string }, role: { $ref: "#/components/schemas/Role" } }
        "403": { $ref: "#/components/responses/Error" }
        "404": { $ref: "#/components/responses/Error" }
        "422": { $ref: "#/components/responses/Error" }
  /api/v1/chats/{id}/leave:
    post:
      tags: [chats]
      summary: Leave a group or channel (an owner hands over to the longest-standing admin or member)
      parameters: [{ $ref: "#/components/parameters/Id" }]
      responses:
        "204": { description: Left }
        "403": { $ref: "#/components/responses/Error" }
        "404": { $ref: "#/components/responses/Error" }
  /api/v1/chats/{id}/messages:
    get:
      tags: [messages]
      summary: History; offset and before_seq pages are newest first, after_seq pages oldest first
      parameters:
        - { $ref: "#/components/parameters/Id" }
        - { $ref: "#/components/parameters/Limit" }
        - { $ref: "#/components/parameters/Offset" }
        - { $ref: "#/components/parameters/BeforeSeq" }
        - { $ref: "#/components/parameters/AfterSeq" }
      responses:
        "200": { $ref: "#/components/responses/MessagePage" }
        "400": { $ref: "#/components/responses/Error" }
        "404": { $ref: "#/components/responses/Error" }
  /api/v1/chats/{id}/read:
    post:
      tags: [chats]
      summary: Mark read up to a seq
      parameters: [{ $ref: "#/components/parameters/Id" }]
      requestBody:
        required: true
        content: { application/json: { schema: { type: object, required: [seq], properties: { seq: { type: integer, minimum: 0 } } } } }
      responses:
        "200":
          description: Read state
          content:
            application/json:
              schema:
                type: object
                properties: { chat_id: { type: string }, last_read_seq: { type: integer }, unread_count: { type: integer } }
        "404": { $ref: "#/components/responses/Error" }
        "422": { $ref: "#/components/responses/Error" }
  /api/v1/updates:
    get:
      tags: [messages]
      summary: Catch up on the update log (the REST twin of WebSocket `resume`)
      description: |
        Every update after the positions the device holds, in order, at most `limit`: its own log's
        first (`account_pts`), then each chat's (`pts`). Apply them, take the positions in the answer,
        and ask again while `more` is true. Chats in `too_long` (further behind than the log keeps)
        or `invalid_position` (a position never issued) are to be reloaded; chats in `left` forgotten.
      parameters:
        - { name: account_pts, in: query, schema: { type: integer, minimum: 0 }, description: "Position in your own log; absent on a first start" }
        - { name: chats, in: query, schema: { type: string }, description: "`<chat id>:<pts>` pairs, comma-separated, at most 100" }
        - { name: limit, in: query, schema: { type: integer, minimum: 1, maximum: 500, default: 100 } }
      responses:
        "200":
          description: One page of updates
          content:
            application/json:
              schema:
                type: object
                required: [updates, account_pts, chats, too_long, invalid_position, left, account_too_long, more]
                properties:
                  updates: { type: array, items: { $ref: "#/components/schemas/Update" } }
                  account_pts: { type: integer }
                  chats: { type: object, additionalProperties: { type: integer } }
                  too_long: { type: array, items: { type: string } }
                  invalid_position: { type: array, items: { type: string } }
                  left: { type: array, items: { type: string } }
                  account_too_long: { type: boolean }
                  more: { type: boolean }
        "400": { $ref: "#/components/responses/Error" }
        "422": { $ref: "#/components/responses/Error" }
  /api/v1/messages:
    post:
      tags: [messages]
      summary: Send a message (201; 200 with the original when client_msg_id was used before)
      description: |
        `client_msg_id` names one send of its sender: a retry in the same chat answers 200 with the
        first message; the same id in another chat is 409 `client_msg_id_reused`.
      requestBody:
        required: true
        content:
          application/json:
            schema:
              allOf:
                - { $ref: "#/components/schemas/MessageInput" }
                - { type: object, required: [chat_id], properties: { chat_id: { type: string, format: uuid } } }
      responses:
        "201": { $ref: "#/components/responses/Message" }
        "200": { $ref: "#/components/responses/Message" }
        "403": { $ref: "#/components/responses/Error" }
        "404": { $ref: "#/components/responses/Error" }
        "409": { $ref: "#/components/responses/Error" }
        "422": { $ref: "#/components/responses/Error" }
  /api/v1/messages/{id}:
    get:
      tags: [messages]
      summary: One message
      parameters: [{ $ref: "#/components/parameters/Id" }]
      responses:
        "200": { $ref: "#/components/responses/Message" }
        "404": { $ref: "#/components/responses/Error" }
    patch:
      tags: [messages]
      summary: Edit your message
      parameters: [{ $ref: "#/components/parameters/Id" }]
      requestBody:
        required: true
        content: { application/json: { schema: { type: object, required: [content], properties: { content: { type: string, maxLength: 4096 } } } } }
      responses:
        "200": { $ref: "#/components/responses/Message" }
        "403": { $ref: "#/components/responses/Error" }
        "404": { $ref: "#/components/responses/Error" }
        "422": { $ref: "#/components/responses/Error" }
    delete:
      tags: [messages]
      summary: Delete for everyone (sender or admin) or for yourself
      parameters:
        - { $ref: "#/components/parameters/Id" }
        - { name: for, in: query, schema: { type: string, enum: [everyone, me], default: everyone } }
      responses:
        "204": { description: Deleted }
        "400": { $ref: "#/components/responses/Error" }
        "403": { $ref: "#/components/responses/Error" }
        "404": { $ref: "#/components/responses/Error" }
  /api/v1/messages/{id}/forward:
    post:
      tags: [messages]
      summary: Forward into another chat
      parameters: [{ $ref: "#/components/parameters/Id" }]
      requestBody:
        required: true
        content: { application/json: { schema: { type: object, required: [chat_id], properties: { chat_id: { type: string, format: uuid } } } } }
      responses:
        "201": { $ref: "#/components/responses/Message" }
        "403": { $ref: "#/components/responses/Error" }
        "404": { $ref: "#/components/responses/Error" }
        "422": { $ref: "#/components/responses/Error" }
  /api/v1/channels:
    post:
      tags: [channels]
      summary: Create a channel (with a username it is public)
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties:
                name: { type: string, maxLength: 255 }
                description: { type: string, maxLength: 1000 }
                username: { type: string }
      responses:
        "201": { $ref: "#/components/responses/Channel" }
        "409": { $ref: "#/components/responses/Error" }
        "422": { $ref: "#/components/responses/Error" }
    get:
      tags: [channels]
      summary: Find a public channel by username
      parameters: [{ name: username, in: query, required: true, schema: { type: string } }]
      responses:
        "200": { $ref: "#/components/responses/Channel" }
        "400": { $ref: "#/components/responses/Error" }
        "404": { $ref: "#/components/responses/Error" }
  /api/v1/channels/{id}:
    get:
      tags: [channels]
      summary: A channel
      parameters: [{ $ref: "#/components/parameters/Id" }]
      responses:
        "200": { $ref: "#/components/responses/Channel" }
        "404": { $ref: "#/components/responses/Error" }
    patch:
      tags: [channels]
      summary: Change name, description, username (owner and admins; null clears)
      parameters: [{ $ref: "#/components/parameters/Id" }]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                name: { type: string }
                description: { type: [string, "null"] }
                username: { type: [string, "null"] }
      responses:
        "200": { $ref: "#/components/responses/Channel" }
        "403": { $ref: "#/components/responses/Error" }
        "409": { $ref: "#/components/responses/Error" }
        "422": { $ref: "#/components/responses/Error" }
  /api/v1/channels/{id}/subscribe:
    post:
      tags: [channels]
      summary: Subscribe (idempotent)
      parameters: [{ $ref: "#/components/parameters/Id" }]
      responses:
        "200": { $ref: "#/components/responses/Channel" }
        "404": { $ref: "#/components/responses/Error" }
    delete:
      tags: [channels]
      summary: Unsubscribe
      parameters: [{ $ref: "#/components/parameters/Id" }]
      responses:
        "200": { $ref: "#/components/responses/Channel" }
        "403": { $ref: "#/components/responses/Error" }
        "404": { $ref: "#/components/responses/Error" }
  /api/v1/channels/{id}/posts:
    get:
      tags: [channels]
      summary: Posts, for subscribers; same paging as chat history
      parameters:
        - { $ref: "#/components/parameters/Id" }
        - { $ref: "#/components/parameters/Limit" }
        - { $ref: "#/components/parameters/Offset" }
        - { $ref: "#/components/parameters/BeforeSeq" }
        - { $ref: "#/components/parameters/AfterSeq" }
      responses:
        "200": { $ref: "#/components/responses/MessagePage" }
        "403": { $ref: "#/components/responses/Error" }
        "404": { $ref: "#/components/responses/Error" }
    post:
      tags: [channels]
      summary: Post (owner and admins)
      parameters: [{ $ref: "#/components/parameters/Id" }]
      requestBody:
        required: true
        content: { application/json: { schema: { $ref: "#/components/schemas/MessageInput" } } }
      responses:
        "201": { $ref: "#/components/responses/Message" }
        "200": { $ref: "#/components/responses/Message" }
        "403": { $ref: "#/components/responses/Error" }
        "422": { $ref: "#/components/responses/Error" }
  /api/v1/subscriptions/purchase:
    post:
      tags: [subscriptions]
      summary: Buy or extend premium (stub payment, never charged)
      parameters:
        - { name: Idempotency-Key, in: header, schema: { type: string, maxLength: 128 }, description: A retry with the same key returns the first purchase }
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [subscription_type]
              properties:
                subscription_type: { type: string, enum: [premium_monthly, premium_yearly] }
                payment_method: { type: string, enum: [stub], default: stub }
      responses:
        "200":
          description: Purchased
          content:
            application/json:
              schema:
                type: object
                properties:
                  subscription: { $ref: "#/components/schemas/Subscription" }
                  payment_log:
                    type: object
                    properties:
                      id: { type: string }
                      amount: { type: number, examples: [4.99] }
                      currency: { type: string }
                      status: { type: string, enum: [completed_stub] }
                      payment_method: { type: string }
                      notes: { type: string }
                      created_at: { type: string, format: date-time }
                  message: { type: string, examples: ["MVP: Payment stub activated. No real charge."] }
        "400": { $ref: "#/components/responses/Error" }
        "422": { $ref: "#/components/responses/Error" }
  /api/v1/subscriptions/me:
    get:
      tags: [subscriptions]
      summary: Your premium status
      responses:
        "200": { $ref: "#/components/responses/SubscriptionStatus" }
  /api/v1/subscriptions/cancel:
    post:
      tags: [subscriptions]
      summary: Turn renewal off; premium lasts to end_date
      responses:
        "200": { $ref: "#/components/responses/SubscriptionStatus" }
        "404": { $ref: "#/components/responses/Error" }
  /api/v1/audit:
    get:
      tags: [auth]
      summary: Your security events, newest first (all=true, server administrators only, for everyone's)
      parameters:
        - { $ref: "#/components/parameters/Limit" }
        - { $ref: "#/components/parameters/BeforeSeq" }
        - { name: all, in: query, schema: { type: boolean } }
      responses:
        "200":
          description: Audit entries
          content:
            application/json:
              schema:
                type: object
                properties:
                  has_more: { type: boolean }
                  entries:
                    type: array
                    items:
                      type: object
                      properties:
                        seq: { type: integer }
                        id: { type: string, format: uuid }
                        occurred_at: { type: string, format: date-time }
                        action: { type: string, examples: [login, token_refresh, refresh_token_reuse, access_denied] }
                        outcome: { type: string, enum: [success, failure, denied] }
                        actor_id: { type: string, format: uuid }
                        subject_id: { type: string, format: uuid }
                        ip_address: { type: string }
                        details: { type: object, additionalProperties: { type: string } }
        "400": { $ref: "#/components/responses/Error" }
        "403": { $ref: "#/components/responses/Error" }
  /api/v1/telegram/link:
    post:
      tags: [telegram]
      summary: A one-time deep link (10 minutes) that links this account to a Telegram chat with the bot
      responses:
        "200":
          description: The link
          content: { application/json: { schema: { type: object, properties: { url: { type: string }, expires_at: { type: string, format: date-time } } } } }
        "404": { $ref: "#/components/responses/Error" }
        "503": { $ref: "#/components/responses/Error" }
    get:
      tags: [telegram]
      summary: Whether this account is linked, and its relay mode
      responses:
        "200": { $ref: "#/components/responses/TelegramLink" }
    patch:
      tags: [telegram]
      summary: "Relay mode: offline (default), always or never"
      requestBody:
        required: true
        content: { application/json: { schema: { type: object, required: [relay_mode], properties: { relay_mode: { type: string, enum: [offline, always, never] } } } } }
      responses:
        "200": { $ref: "#/components/responses/TelegramLink" }
        "404": { $ref: "#/components/responses/Error" }
        "422": { $ref: "#/components/responses/Error" }
    delete:
      tags: [telegram]
      summary: Unlink
      responses:
        "204": { description: Unlinked }
        "404": { $ref: "#/components/responses/Error" }
  /api/v1/telegram/status:
    get:
      tags: [telegram]
      summary: Relay queue figures (server administrators)
      responses:
        "200":
          description: Status
          content:
            application/json:
              schema:
                type: object
                properties:
                  enabled: { type: boolean }
                  queue_length: { type: integer }
                  sending: { type: integer }
                  sent: { type: integer }
                  failed: { type: integer }
                  last_error: { type: string }
        "403": { $ref: "#/components/responses/Error" }
  /api/v1/references/{ref}:
    get:
      tags: [telegram]
      summary: The message behind a reference, for someone who may read its chat now (404 for anyone else)
      parameters: [{ name: ref, in: path, required: true, schema: { type: string } }]
      responses:
        "200": { $ref: "#/components/responses/Message" }
        "404": { $ref: "#/components/responses/Error" }
  /api/v1/references:
    post:
      tags: [telegram]
      summary: Register a reference made by an external relay (server administrators)
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [telegram_id, local_message_id, type]
              properties:
                telegram_id: { type: string }
                local_message_id: { type: string, format: uuid }
                type: { type: string, enum: [text, image, video, audio, file] }
      responses:
        "201":
          description: Registered
          content: { application/json: { schema: { type: object, properties: { reference: { type: string }, url: { type: string } } } } }
        "403": { $ref: "#/components/responses/Error" }
        "422": { $ref: "#/components/responses/Error" }
  /telegram/webhook:
    post:
      tags: [telegram]
      summary: "Telegram's webhook (only with TELEGRAM_WEBHOOK_SECRET); needs X-Telegram-Bot-Api-Secret-Token"
      security: []
      requestBody:
        required: true
        content: { application/json: { schema: { type: object } } }
      responses:
        "200": { description: Handled }
        "401": { $ref: "#/components/responses/Error" }
        "404": { $ref: "#/components/responses/Error" }
  /:
    get:
      tags: [web]
      summary: The web client
      security: []
      responses:
        "200": { description: The web client's page, content: { text/html: { schema: { type: string } } } }
        "304": { description: Not modified since the ETag given in If-None-Match }
  /assets/{path}:
    get:
      tags: [web]
      summary: A file of the web client (scripts, styles, icons)
      security: []
      parameters: [{ name: path, in: path, required: true, schema: { type: string } }]
      responses:
        "200": { description: The file }
        "304": { description: Not modified since the ETag given in If-None-Match }
        "404": { $ref: "#/components/responses/Error" }
  /r/{ref}:
    get:
      tags: [telegram]
      summary: The page a Telegram notice links to; the web client opens the message once signed in
      security: []
      parameters: [{ name: ref, in: path, required: true, schema: { type: string } }]
      responses:
        "200": { description: The web client's page (no content of the message), content: { text/html: { schema: { type: string } } } }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer, bearerFormat: JWT }
  parameters:
    Id: { name: id, in: path, required: true, schema: { type: string, format: uuid } }
    UserId: { name: userId, in: path, required: true, schema: { type: string, format: uuid } }
    Limit: { name: limit, in: query, schema: { type: integer, minimum: 1, maximum: 100, default: 50 } }
    Offset: { name: offset, in: query, schema: { type: integer, minimum: 0, default: 0 } }
    BeforeSeq: { name: before_seq, in: query, schema: { type: integer, minimum: 1 } }
    AfterSeq: { name: after_seq, in: query, schema: { type: integer, minimum: 0 } }
  responses:
    Error: { description: An error, content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
    SignedIn:
      description: Signed in
      content:
        application/json:
          schema:
            allOf:
              - { $ref: "#/components/schemas/Tokens" }
              - { type: object, properties: { user: { $ref: "#/components/schemas/User" } } }
    Chat: { description: A chat, content: { application/json: { schema: { $ref: "#/components/schemas/Chat" } } } }
    Message: { description: A message, content: { application/json: { schema: { $ref: "#/components/schemas/Message" } } } }
    MessagePage: { description: A page of messages, content: { application/json: { schema: { $ref: "#/components/schemas/MessagePage" } } } }
    Channel: { description: A channel, content: { application/json: { schema: { $ref: "#/components/schemas/Channel" } } } }
    TelegramLink:
      description: Link status
      content:
        application/json:
          schema:
            type: object
            properties:
              enabled: { type: boolean, description: Whether this server has a Telegram bot }
              linked: { type: boolean }
              relay_mode: { type: string, enum: [offline, always, never] }
              linked_at: { type: string, format: date-time }
    SubscriptionStatus:
      description: Premium status
      content:
        application/json:
          schema:
            type: object
            properties:
              is_premium: { type: boolean }
              subscription: { $ref: "#/components/schemas/Subscription" }
  schemas:
    Update:
      type: object
      required: [type]
      description: One update of the log, as WebSocket frames carry it too
      properties:
        type:
          type: string
          enum: [new_message, message_edited, message_deleted, read, member_added, member_removed, role_changed, chat_updated,
                 chat_joined, chat_left, message_hidden, premium_changed, session_revoked]
        chat_id: { type: string }
        pts: { type: integer, description: "Position in the chat's log; on chat_joined, where to catch up from" }
        account_pts: { type: integer, description: "Position in your own log, for updates of it" }
        message: { $ref: "#/components/schemas/Message" }
        message_id: { type: string }
        seq: { type: integer }
        user_id: { type: string }
        user_ids: { type: array, items: { type: string } }
        role: { type: string }
        is_premium: { type: boolean }
        session_id: { type: string }
    Error:
      type: object
      required: [error]
      properties:
        error:
          type: object
          required: [code, message]
          properties: { code: { type: string }, message: { type: string }, field: { type: string } }
    Health:
      type: object
      properties:
        status: { type: string, enum: [ok, unavailable] }
        database: { type: string, enum: [sqlite, postgres] }
        failing: { type: array, items: { type: string } }
    Tokens:
      type: object
      properties:
        token: { type: string, description: "JWT, HS256, 24 h" }
        token_expires_at: { type: string, format: date-time }
        refresh_token: { type: string }
        refresh_token_expires_at: { type: string, format: date-time }
        session_id: { type: string, format: uuid }
    User:
      type: object
      properties:
        id: { type: string, format: uuid }
        phone: { type: string }
        email: { type: string }
        username: { type: string }
        bio: { type: string }
        avatar_url: { type: string }
        is_premium: { type: boolean }
        created_at: { type: string, format: date-time }
        updated_at: { type: string, format: date-time }
    PublicUser:
      type: object
      properties:
        id: { type: string, format: uuid }
        username: { type: string }
        bio: { type: string }
        avatar_url: { type: string }
        is_premium: { type: boolean }
        created_at: { type: string, format: date-time }
    Session:
      type: object
      properties:
        id: { type: string, format: uuid }
        device_name: { type: string }
        ip_address: { type: string }
        created_at: { type: string, format: date-time }
        last_seen_at: { type: string, format: date-time }
        expires_at: { type: string, format: date-time }
        current: { type: boolean }
    Role: { type: string, enum: [owner, admin, member, subscriber] }
    Chat:
      type: object
      properties:
        id: { type: string, format: uuid }
        type: { type: string, enum: [dm, group, channel] }
        name: { type: string }
        owner_id: { type: string, format: uuid }
        member_count: { type: integer }
        last_seq: { type: integer }
        last_activity_at: { type: string, format: date-time }
        created_at: { type: string, format: date-time }
        updated_at: { type: string, format: date-time }
        role: { $ref: "#/components/schemas/Role" }
        last_read_seq: { type: integer }
        unread_count: { type: integer, maximum: 1000, description: "Messages from others after your read mark; counting stops at 1000" }
        last_message: { $ref: "#/components/schemas/Message" }
        peer_id: { type: string, format: uuid, description: The other person of a DM }
        others_last_read_seq: { type: integer, description: "How far the other members have read (the furthest); 0 in channels" }
        peer: { $ref: "#/components/schemas/PublicUser", description: "DMs: the other person's public profile" }
    MessageInput:
      type: object
      properties:
        content: { type: string, maxLength: 4096 }
        message_type: { type: string, enum: [text, image, video, audio, file], default: text }
        media_url: { type: string, format: uri }
        attachments: { type: array, maxItems: 10, items: { type: string, format: uuid } }
        metadata: { type: object, description: At most 4096 bytes of JSON }
        reply_to_id: { type: string, format: uuid }
        client_msg_id: { type: string, maxLength: 64, description: Makes sending idempotent }
    Message:
      type: object
      properties:
        id: { type: string, format: uuid }
        chat_id: { type: string, format: uuid }
        seq: { type: integer, description: Per-chat sequence number, gap-free }
        sender_id: { type: string, format: uuid }
        content: { type: string }
        message_type: { type: string, enum: [text, image, video, audio, file] }
        media_url: { type: string }
        attachments: { type: array, items: { type: string } }
        metadata: { type: object }
        reply_to_id: { type: string, format: uuid }
        forwarded_from:
          type: object
          properties: { message_id: { type: string, format: uuid }, sender_id: { type: string, format: uuid } }
        client_msg_id: { type: string }
        created_at: { type: string, format: date-time }
        updated_at: { type: string, format: date-time }
        edited_at: { type: string, format: date-time }
        deleted_at: { type: string, format: date-time, description: Set on a tombstone; content is then empty }
    MessagePage:
      type: object
      properties:
        messages: { type: array, items: { $ref: "#/components/schemas/Message" } }
        total: { type: integer }
        has_more: { type: boolean }
    Channel:
      type: object
      properties:
        id: { type: string, format: uuid }
        name: { type: string }
        description: { type: string }
        username: { type: string }
        owner_id: { type: string, format: uuid }
        subscriber_count: { type: integer }
        last_seq: { type: integer }
        created_at: { type: string, format: date-time }
        updated_at: { type: string, format: date-time }
        role: { $ref: "#/components/schemas/Role" }
        is_subscribed: { type: boolean }
    Subscription:
      type: object
      properties:
        id: { type: string, format: uuid }
        user_id: { type: string, format: uuid }
        type: { type: string, enum: [premium_monthly, premium_yearly] }
        start_date: { type: string, format: date-time }
        end_date: { type: string, format: date-time }
        auto_renew: { type: boolean }
        status: { type: string, enum: [active, cancelled, expired] }
"""#
}
