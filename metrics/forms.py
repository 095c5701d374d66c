from django import forms

from .models import FollowUp


class FollowUpStatusForm(forms.ModelForm):
    class Meta:
        model = FollowUp
        fields = ["status"]
