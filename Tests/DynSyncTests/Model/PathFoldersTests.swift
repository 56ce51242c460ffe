import DynSyncCore
import Testing

@Suite("Folders of paths")
struct PathFoldersTests {
  @Test(
    "the folder part of a path, as Foundation's would be where it does not stop the process",
    arguments: [
      ("b", ""), ("b/", ""), ("batch", ""), ("a/b", "a"), ("a/b/", "a"), ("a//b", "a"), ("/b", "/"), ("/", "/"),
      ("./b", "."), ("../b", ".."), ("/tmp/out/batch", "/tmp/out"), ("", ""), ("é/ü", "é"),
    ])
  func parentFolder(path: String, folder: String) {
    #expect(path.parentFolder == folder)
  }
}
