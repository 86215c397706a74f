/// The OpenAPI 3.1 description of the whole REST API, served at `/api/v1/openapi.yaml`.
///
/// The document is `openapi.yaml` beside this file, embedded into the binary by SwiftPM
/// (`.embedInCode`), so a deployed `courier` needs no resource files. `OpenAPITests` fails when a
/// route exists without being described there, or the other way round.
enum OpenAPIDocument {
    static let yaml = String(decoding: PackageResources.openapi_yaml, as: UTF8.self)
}
