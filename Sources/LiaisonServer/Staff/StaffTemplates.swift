import Mustache

/// The staff pages' templates, compiled into the binary (`EmbeddedAssets`), parsed once: one per page, with
/// partials for the layout, the error summary, a form field, a banner and pagination. Values are HTML-escaped
/// (`{{…}}`); no template uses unescaped output.
struct StaffTemplates: Sendable {
    private let library: MustacheLibrary

    /// - Throws: a template that does not parse (a build's own, so a test catches it first).
    init() throws {
        var library = MustacheLibrary()
        for (name, text) in EmbeddedAssets.templates { try library.register(text, named: name) }
        self.library = library
    }

    /// The page `template` makes of `model`.
    func render(_ template: String, _ model: Any) -> String {
        library.render(model, withTemplate: template) ?? "<!DOCTYPE html><html lang=\"en\"><title>Liaison</title><p>Page not found</p></html>"
    }
}
