/// Where and how one push inbox receives its copies.
public struct InboxEndpoint: Sendable {
    /// The inbox address, `party/role`.
    public let address: String
    public let url: String
    public let signer: WebhookSigner
    public let clientCertificate: String?
    public let clientKey: String?
    public let caBundle: String?
    public let concurrency: Int
    public let timeoutSeconds: Double

    public init(
        address: String, url: String, secrets: [String], clientCertificate: String?, clientKey: String?,
        caBundle: String?, concurrency: Int, timeoutSeconds: Double
    ) {
        self.address = address
        self.url = url
        self.signer = WebhookSigner(secrets: secrets)
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.caBundle = caBundle
        self.concurrency = concurrency
        self.timeoutSeconds = timeoutSeconds
    }
}
