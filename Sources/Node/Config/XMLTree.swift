// XMLTree: deployment.xml read into a small element tree with line numbers, using FoundationXML's
// event parser (libxml2 underneath).
//
// Why a tree of our own rather than `XMLDocument`: the interpreter needs each element's line for
// warnings, and `XMLParser` reports positions while `XMLDocument` does not. Comments and
// processing instructions are dropped; text is kept only to warn about it (no supported element
// takes text).
//
// `XMLParser` quirks this works around (swift-corelibs-foundation on Linux, verified by hand):
// - `parse()` can return true although an error was reported; success is "no error reported".
// - The first error reported through the delegate is the meaningful one and carries the right
//   position; later ones are consequences ("extra content", "premature end").
// - A document that ends inside an open element reports "premature end" (code 5), or nothing at
//   all when the open element is the only one (`<a>`); an empty document reports nothing. So
//   open elements left at the end and a missing root are detected here, and code 5 with an
//   element open is reported as that element being unclosed.
// - The error's `NSError` has no message, only libxml2's `xmlParserErrors` code; the common
//   codes are turned into words below, the rest are reported by number.

import Foundation
import FoundationXML

/// One element: its name, attributes sorted by name (XMLParser hands them over as a dictionary,
/// whose order is random), children in document order, and the line it starts on.
struct XMLTreeNode: Sendable {
    var name: String
    var attributes: [(name: String, value: String)]
    var children: [XMLTreeNode]
    var text: String
    var line: Int
}

/// A syntax error: position and what is wrong.
struct XMLSyntaxError: Error, Sendable, Equatable {
    var line: Int
    var column: Int
    var reason: String
}

enum XMLTree {
    /// Parses `bytes` into the root element, or nil for a document without one (empty input).
    static func parse(_ bytes: [UInt8]) throws(XMLSyntaxError) -> XMLTreeNode? {
        let parser = XMLParser(data: Data(bytes))
        parser.shouldProcessNamespaces = false
        parser.shouldResolveExternalEntities = false
        let builder = TreeBuilder()
        parser.delegate = builder
        _ = parser.parse()
        if let error = builder.firstError {
            throw error
        }
        if let error = parser.parserError as NSError? {
            throw XMLSyntaxError(
                line: parser.lineNumber, column: parser.columnNumber, reason: describe(code: error.code, open: nil))
        }
        if let open = builder.stack.last {
            let (line, column) = endPosition(of: bytes)
            throw XMLSyntaxError(
                line: line, column: column,
                reason: "the document ends before <\(open.name)> (opened on line \(open.line)) is closed")
        }
        return builder.root
    }

    /// The line and column just past the last byte, 1-based, as libxml2 would report them.
    static func endPosition(of bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {  // count characters, not UTF-8 continuation bytes
                column += 1
            }
        }
        return (line, column)
    }

    /// libxml2's `xmlParserErrors` codes that a hand-edited file commonly produces, in words.
    static func describe(code: Int, open: String?) -> String {
        switch code {
        case 4: return "the document is empty or does not start with an element"
        case 5: return "extra content after the root element, or the document ends too early"
        case 9: return "a character that XML does not allow"
        case 23: return "an entity reference is missing its ';'"
        case 26: return "an undeclared entity (use &amp; &lt; &gt; &quot; &apos; or a character reference)"
        case 38: return "'<' is not allowed in an attribute value"
        case 39: return "an attribute value must be in quotes"
        case 40: return "an attribute value is missing its closing quote"
        case 41: return "an attribute has no value"
        case 42: return "an attribute appears twice in the same element"
        case 45: return "a comment is not closed with -->"
        case 65: return "a space is required here"
        case 68: return "an element or attribute name is required here"
        case 73: return "'>' is required here"
        case 76:
            if let open { return "the closing tag does not match <\(open)>" }
            return "the closing tag does not match the opening tag"
        case 77: return "a tag is not finished"
        case 80: return "'--' is not allowed inside a comment"
        default: return "XML syntax error (libxml2 code \(code))"
        }
    }
}

/// The parser's delegate: builds the tree and remembers the first error with its position.
/// Used by one `parse` call on one thread and dropped with it.
private final class TreeBuilder: NSObject, XMLParserDelegate {
    var stack: [XMLTreeNode] = []
    var root: XMLTreeNode?
    var firstError: XMLSyntaxError?

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
        qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
    ) {
        let attributes = attributeDict.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
        stack.append(XMLTreeNode(name: elementName, attributes: attributes, children: [], text: "", line: parser.lineNumber))
    }

    func parser(
        _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?
    ) {
        guard let node = stack.popLast() else { return }
        if stack.isEmpty {
            root = node
        } else {
            stack[stack.count - 1].children.append(node)
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self)
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
        guard firstError == nil else { return }
        let code = (parseError as NSError).code
        let reason: String
        if code == 5, let open = stack.last {
            reason = "the document ends before <\(open.name)> (opened on line \(open.line)) is closed"
        } else {
            reason = XMLTree.describe(code: code, open: stack.last?.name)
        }
        firstError = XMLSyntaxError(line: parser.lineNumber, column: parser.columnNumber, reason: reason)
    }
}
