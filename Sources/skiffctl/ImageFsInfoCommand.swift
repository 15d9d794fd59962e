import ArgumentParser
import CRIAPI
import Foundation

struct ImageFsInfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "imagefsinfo", abstract: "Return image filesystem info.")

    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("o"), .long], help: "Output format: json, yaml or table.")
    var output: OutputFormat = .json

    func run() async throws {
        let reply = try await Session.run(global, .image, doing: "image filesystem info request") { cri in
            try await cri.image.imageFsInfo(Runtime_V1_ImageFsInfoRequest(), options: cri.options)
        }
        Session.debug(global, "ImageFsInfoResponse", reply)
        if output == .table {
            print(Self.table("Container", reply.containerFilesystems) + Self.table("Image", reply.imageFilesystems),
                  terminator: "")
        } else {
            print(try output.render(.object(["status": try Session.json(reply, template: ReplyTemplates.imageFsInfo)])))
        }
    }

    static func table(_ label: String, _ filesystems: [Runtime_V1_FilesystemUsage]) -> String {
        var out = "\(label) Filesystem \n"
        for (i, fs) in filesystems.enumerated() {
            out += "TimeStamp[\(i)]: \(fs.timestamp)\n"
            out += "Disk[\(i)]: \(humanSize(fs.usedBytes.value))\n"
            out += "Inodes[\(i)]: \(fs.inodesUsed.value)\n"
            out += "Mountpoint[\(i)]: \(fs.fsID.mountpoint)\n"
        }
        return out
    }

    /// Decimal units with four significant digits, like Docker's `units.HumanSize` that crictl uses.
    static func humanSize(_ bytes: UInt64, significantDigits: Int = 4) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
        var size = Double(bytes)
        var unit = 0
        while size >= 1000, unit < units.count - 1 {
            size /= 1000
            unit += 1
        }
        return String(format: "%.\(significantDigits)g", size) + units[unit]
    }
}
