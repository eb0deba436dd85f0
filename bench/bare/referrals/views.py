from rest_framework.generics import CreateAPIView, RetrieveAPIView, get_object_or_404

from bench.bare.referrals.models import Referral
from bench.bare.referrals.serializers import NoteSerializer, ReferralSerializer


class ReferralDetail(RetrieveAPIView):
    queryset = Referral.objects.select_related("survivor")
    serializer_class = ReferralSerializer
    lookup_url_kwarg = "referral_id"


class NoteCreate(CreateAPIView):
    serializer_class = NoteSerializer

    def perform_create(self, serializer):
        referral = get_object_or_404(Referral, pk=self.kwargs["referral_id"])
        serializer.save(referral=referral, author=self.request.user)
