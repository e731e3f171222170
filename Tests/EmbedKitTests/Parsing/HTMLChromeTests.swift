import EmbedKit
import Foundation
import Testing

/// Page chrome left out, content containers, tables of contents (D39 to D41 in docs/decisions.md).
@Suite("HTML chrome and content")
struct HTMLChromeTests {
    func parse(_ html: String) throws -> ParsedDocument {
        try HTMLDocumentParser().parse(Array(html.utf8), path: "t.html")
    }

    func texts(_ html: String) throws -> [String] {
        try parse(html).blocks.map(\.text)
    }

    @Test("nav, page-level aside and chrome roles are left out; an aside inside a section is kept")
    func chromeElements() throws {
        #expect(try texts("""
            <body><nav>Home | About</nav><p>Text</p><aside>Related posts</aside>
            <div role="navigation">Prev</div><div role="banner">Site</div><div role="contentinfo">Legal</div>
            <div role="complementary">Ads</div><div role="search">Find</div>
            <section><p>Body</p><aside>A footnote</aside><aside role="complementary">Boxed</aside></section></body>
            """) == ["Text", "Body", "A footnote"])
        #expect(try texts("<aside>Side</aside><article><p>A</p><aside>Margin note</aside></article>")
            == ["A", "Margin note"])
    }

    @Test("aria-hidden, hidden (not until-found), buttons and form controls are left out")
    func hiddenAndControls() throws {
        #expect(try texts("""
            <p>a<span aria-hidden="true">icon</span>b</p><p hidden>gone</p><div hidden="until-found">found</div>
            <pre>code();<button class="copy-button">copy</button></pre><p><a role="button">Menu</a>c</p>
            <form><label>Name <input value="x"></label><select><option>One</option></select>
            <textarea>typed</textarea></form>
            """) == ["ab", "found", "code();", "c", "Name"])
    }

    @Test("permalinks and skip links are left out; other links, and glyphs with text, stay")
    func permalinks() throws {
        #expect(try texts("""
            <h2>One<a href="#one">¶</a></h2><h2>Two <a href="#two"> # </a></h2><h2>Three<a href="#t">🔗</a></h2>
            <h2>Four<a class="headerlink" href="#four">link</a></h2>
            <h2>Five<a href="#f" class="hash-link">&#8203;</a></h2><h2>Six<a href="#s">§</a></h2>
            <h2>Seven<a href="#s">⚓︎</a></h2>
            <p><a href="#main">Skip to main content</a><a href="#nav">Skip navigation links</a>Rule
            <a href="#r1">#1</a>,
            <a href="other.html#x">¶</a> <a href="#sec">§ 4</a> <a href="#top">Back to top</a></p>
            """) == ["One", "Two", "Three", "Four", "Five", "Six", "Seven", "Rule #1, ¶ § 4 Back to top"])
    }

    @Test("chrome that generators mark only by class or id: Apache, Javadoc 8, old Sphinx themes")
    func chromeByName() throws {
        // Apache's manual: #page-content is the container; its language list and sidebar are chrome.
        #expect(try texts("""
            <div id="page-header"><p class="menu">Modules | Directives</p></div><div id="path">Apache &gt; HTTP</div>
            <div id="page-content"><div id="preamble"><h1>mod_x</h1><div class="toplang"><p>Languages: en</p></div>
            <p>Summary</p></div><div id="quickview"><h3>Directives</h3><ul id="toc"><li>XOn</li></ul></div>
            <div class="section"><h2>XOn <a class="permalink" href="#xon">¶</a></h2><p>Turns x on.</p></div></div>
            <div class="bottomlang">Languages: en</div><div id="footer">Copyright</div>
            """) == ["mod_x", "Summary", "XOn", "Turns x on."])
        // Javadoc 8: no landmarks; its navigation bars are known by class.
        #expect(try texts("""
            <div class="topNav"><a name="navbar.top"></a><ul class="navList"><li>Overview</li></ul></div>
            <div class="subNav"><ul><li>Prev Class</li></ul></div><div class="header"><h2>Class Widget</h2></div>
            <div class="contentContainer"><div class="block">Draws.</div></div><div class="bottomNav">Overview</div>
            """) == ["Class Widget", "Draws."])
        #expect(try texts("<div class=body><p>Text</p></div><div class=sphinxsidebar><h3>Next topic</h3></div>")
            == ["Text"])
    }

    @Test("one content container: only its text; the title stays")
    func oneContainer() throws {
        let doc = try parse("""
            <title>Page</title><header><h1>Site</h1></header><div>Menu</div>
            <main><h1>Topic</h1><p>Words</p></main><footer>Legal</footer>
            """)
        #expect(doc.title == "Page")
        #expect(doc.blocks.map(\.text) == ["Topic", "Words"])
        #expect(try texts("<p>x</p><div role=main><p>y</p></div>") == ["y"])
        #expect(try texts("<p>x</p><div itemprop=\"articleBody\"><p>y</p></div>") == ["y"])
        #expect(try texts("<p>x</p><article><p>y</p></article>") == ["y"])
        // Nested containers count once.
        #expect(try texts("<p>x</p><main><article><p>y</p></article><p>z</p></main>") == ["y", "z"])
        // The first h1 kept is the title when there is no <title>.
        #expect(try parse("<header><h1>Site</h1></header><main><h1>Topic</h1></main>").title == "Topic")
    }

    @Test("several containers with text, or only empty ones: the whole page minus chrome")
    func containerFallback() throws {
        #expect(try texts("<header>Blog</header><article>One</article><article>Two</article><nav>x</nav>")
            == ["Blog", "One", "Two"])
        #expect(try texts("<p>Intro</p><main> </main><p>Outro</p>") == ["Intro", "Outro"])
        #expect(try texts("<p>Intro</p><main><nav>Only links</nav></main><p>Outro</p>") == ["Intro", "Outro"])
    }

    @Test("a page that is nothing but chrome keeps it rather than becoming empty")
    func allChrome() throws {
        #expect(try texts("<body><nav><a href=a.html>Alpha</a> <a href=b.html>Beta</a></nav></body>")
            == ["Alpha Beta"])
        #expect(try texts("<div class=navheader>Prev</div><aside>Side</aside>") == ["Prev", "Side"])
        // Hidden text and controls stay out even then.
        #expect(try texts("<nav>Menu<button>Open</button><span hidden>x</span></nav>") == ["Menu"])
    }

    @Test("tables of contents and back-of-book indexes are left out, also where they are the whole page")
    func tablesOfContents() throws {
        // Text follows it: a content page's ToC.
        #expect(try texts("<h1>Ch</h1><div class=toc><a href=s1.html>One</a></div><p>Text</p>") == ["Ch", "Text"])
        // Only in-page links: a jump list.
        #expect(try texts("<h1>Ch</h1><p>Text</p><ul class=table-of-contents><li><a href=#a>A</a></ul>")
            == ["Ch", "Text"])
        // At the end and leading to other pages: a part's list of chapters, indexed where they are.
        #expect(try texts("<h1>Part</h1><p>Intro</p><div class=toc><a href=c1.html>One</a></div>") == ["Part", "Intro"])
        // Nothing else on the page.
        #expect(try texts("<h1>Contents</h1><div id=toc><a href=#a>A</a></div>") == ["Contents"])
        // Sphinx's toctree and index table, DocBook's index divisions.
        #expect(try texts("<h1>Library</h1><p>Modules:</p><div class=toctree-wrapper><ul><li><a href=json.html>json</a></ul></div>")
            == ["Library", "Modules:"])
        #expect(try texts("<h1>Index – B</h1><table class=\"indextable genindextable\"><tr><td><a href=f.html#b>bytes</a></table>")
            == ["Index – B"])
        #expect(try texts("<h1>Directive Index</h1><div id=directive-list><ul><li><a href=core.html#listen>Listen</a></ul></div>")
            == ["Directive Index"])
        #expect(try texts("<div class=index><div class=indexdiv><h3>J</h3><dl><dt>json_each, <a href=f.html>JSON</a></dl></div></div>")
            .isEmpty)
    }

    @Test("block lines stay right around containers and chrome")
    func lines() throws {
        let doc = try parse("<body>\n<nav>\nx\n</nav>\n<main>\n<h1>T</h1>\n\n<p>one\ntwo</p>\n</main>\n</body>")
        #expect(doc.blocks == [
            .init(kind: .heading(level: 1), text: "T", line: 6),
            .init(kind: .paragraph, text: "one two", line: 8),
        ])
    }

    @Test("deep and broken markup: bounded, no crash")
    func hostile() throws {
        let anchors =
            String(repeating: "<a href=\"#x\">", count: 20_000) + "deep" + String(repeating: "</a>", count: 20_000)
        _ = try parse("<main>" + anchors + "</main>")
        let mains = String(repeating: "<main><nav><aside role=main>", count: 5_000) + "text"
        _ = try parse(mains)
        let toc = String(repeating: "<div class=toc><p>t</p>", count: 5_000)
        _ = try parse(toc + "<!-- unclosed comment <p>x</p>")
        #expect(try texts("<main><p>open<div class=toc><a href=#a>a</a><p>after").first == "open")
    }
}
