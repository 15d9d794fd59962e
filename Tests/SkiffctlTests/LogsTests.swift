import Foundation
import Testing
@testable import skiffctl

@Suite struct LogsTests {
    @Test func crLogLinesParseWithNanosecondTimes() throws {
        let line = try #require(CRILog.parse(ArraySlice("2026-12-04T07:27:08.496253648Z stdout F hello world".utf8)))
        #expect(line.stream == "stdout" && !line.partial && line.content == Array("hello world".utf8))
        #expect(abs(line.time.timeIntervalSince1970 - 1_796_369_228.496_253_648) < 0.000_01)
        #expect(CRILog.parse(ArraySlice("2026-12-04T07:27:08Z stderr P ".utf8))?.partial == true)
        #expect(CRILog.parse(ArraySlice("not a log line".utf8)) == nil)
        #expect(CRILog.parse(ArraySlice("2026-12-04T07:27:08Z stdout X x".utf8)) == nil)
    }

    @Test func sinceTakesATimeOrADuration() throws {
        let now = Date(timeIntervalSince1970: 10_000)
        #expect(try CRILog.parseSince("1h30m", now: now).timeIntervalSince1970 == 10_000 - 5400)
        #expect(try CRILog.parseSince("42s", now: now).timeIntervalSince1970 == 10_000 - 42)
        #expect(try CRILog.parseSince("1970-01-01T00:00:05Z").timeIntervalSince1970 == 5)
        #expect(throws: (any Error).self) { try CRILog.parseSince("yesterday") }
        #expect(throws: (any Error).self) { try CRILog.parseSince("5") }
    }

    @Test func theReaderWaitsForWholeLinesAndFollowsARotation() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiffctl-logs-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/0.log"
        try "2026-12-04T07:27:08.1Z stdout F one\n2026-12-04T07:27:08.2Z stdout F tw".write(toFile: path, atomically: false, encoding: .utf8)
        var reader = CRILog.Reader(path: path)
        #expect(reader.readAvailable().map { String(decoding: $0.content, as: UTF8.self) } == ["one"])
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("o\n".utf8))
        try handle.close()
        #expect(reader.readAvailable().map { String(decoding: $0.content, as: UTF8.self) } == ["two"])
        // Rotation: the file is renamed and a new one takes its path.
        #expect(rename(path, path + ".1") == 0)
        try "2026-12-04T07:27:09Z stderr F three\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(reader.readAvailable().map(\.stream) == ["stderr"])
    }
}
