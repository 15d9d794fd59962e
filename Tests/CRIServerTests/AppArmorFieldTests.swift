import CRIAPI
import PodManager
import SpecBuilder
import Testing
@testable import CRIServer

/// CRI's two ways to name an AppArmor profile: the `apparmor` field wins over the deprecated string.
@Suite struct AppArmorFieldTests {
    func choice(_ edit: (inout Runtime_V1_LinuxContainerSecurityContext) -> Void) throws -> ContainerInput.AppArmorChoice {
        var s = Runtime_V1_LinuxContainerSecurityContext()
        edit(&s)
        return try RuntimeServiceAdapter.appArmor(s)
    }

    @Test func theFieldAndTheDeprecatedStringMapToOneChoice() throws {
        #expect(try choice { _ in } == .unset)
        #expect(try choice { $0.apparmorProfile = "runtime/default" } == .runtimeDefault)
        #expect(try choice { $0.apparmorProfile = "unconfined" } == .unconfined)
        #expect(try choice { $0.apparmorProfile = "localhost/deny-write" } == .localhost("deny-write"))
        #expect(try choice { $0.apparmor = .with { $0.profileType = .localhost; $0.localhostRef = "deny-write" } } == .localhost("deny-write"))
        #expect(try choice { $0.apparmor = .with { $0.profileType = .unconfined }; $0.apparmorProfile = "runtime/default" } == .unconfined)
        #expect(try choice { $0.apparmor = .with { $0.profileType = .runtimeDefault } } == .runtimeDefault)
        #expect(try choice { $0.apparmor = .with { $0.profileType = .localhost; $0.localhostRef = "localhost/deny-write" } } == .localhost("deny-write"))
    }

    @Test func malformedNamesAreInvalidArguments() {
        for bad in ["docker-default", "localhost/", "runtime/other"] {
            #expect(throws: PodManagerError.self) { try choice { $0.apparmorProfile = bad } }
        }
        #expect(throws: PodManagerError.self) { try choice { $0.apparmor = .with { $0.profileType = .localhost } } }
    }
}
