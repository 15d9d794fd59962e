import ArgumentParser
import CRIAPI
import GRPCCore

struct RmiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rmi", abstract: "Remove one or more images (with all their tags).")

    @OptionGroup var global: GlobalOptions

    @Flag(name: [.customShort("a"), .long], help: "Remove all images.")
    var all = false

    @Flag(name: [.customShort("q"), .long], help: "Remove all images no container uses (pinned ones stay).")
    var prune = false

    @Argument(help: "IMAGE-ID [IMAGE-ID...]")
    var images: [String] = []

    func validate() throws {
        if images.isEmpty, !all, !prune { throw ValidationError("give image ids or references, --all or --prune") }
    }

    func run() async throws {
        let (deleted, failed) = try await Session.run(global, .image, doing: "removing image") { cri in
            var ids = images
            if all || prune {
                let listed = try await cri.image.listImages(Runtime_V1_ListImagesRequest(), options: cri.options).images
                ids += listed.filter { !(prune && $0.pinned) }.map(\.id)
            }
            if prune {
                // In use: the images of every container the runtime knows, running or not. A
                // runtime that cannot list containers runs none through CRI.
                var containers: [Runtime_V1_Container] = []
                do {
                    containers = try await cri.runtime.listContainers(Runtime_V1_ListContainersRequest(), options: cri.options).containers
                } catch let error as RPCError where error.code == .unimplemented {}
                var used = Set<String>()
                for container in containers {
                    let status = try await cri.image.imageStatus(.with { $0.image.image = container.image.image }, options: cri.options)
                    if status.hasImage { used.insert(status.image.id) }
                }
                ids = ids.filter { !used.contains($0) }
            }
            // As crictl: every image is tried, what was deleted is printed, and any failure makes the
            // exit status non-zero at the end.
            var deleted: [String] = []
            var failed = false
            var seen = Set<String>()
            for id in ids where seen.insert(id).inserted {
                do {
                    let status = try await cri.image.imageStatus(.with { $0.image.image = id }, options: cri.options)
                    guard status.hasImage else {
                        Session.printError("no such image \(id)")
                        failed = true
                        continue
                    }
                    _ = try await cri.image.removeImage(.with { $0.image.image = id }, options: cri.options)
                    deleted += status.image.repoTags.isEmpty ? status.image.repoDigests : status.image.repoTags
                } catch let error as RPCError where !prune {
                    Session.printError("error of removing image \"\(id)\": rpc error: code = \(Session.goName(error.code)) desc = \(error.message)")
                    failed = true
                } catch is RPCError {}
            }
            return (deleted, failed)
        }
        for name in deleted { print("Deleted: \(name)") }
        if failed { throw ExitCode.failure }
    }
}
